"""What an assignment is: its manifest, its notebooks and their markers, and its instructor modules."""
