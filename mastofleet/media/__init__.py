"""The live media evacuation: status, verify and finish (`migration`), and the programs that run on the edge (edge/)."""
