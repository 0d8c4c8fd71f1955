"""The live media evacuation: status, verify and finish (here), and the programs that run on the edge (edge/)."""
