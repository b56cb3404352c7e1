"""Force management (警队建设): duty rosters, who is on duty, training records; dispatch reads the roster."""
