"""The live media evacuation: status, verify and finish (`migration`); the program on the edge is mastofleet/agents/media_edge."""
