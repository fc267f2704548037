"""Sales reports: pipeline, trend, leaderboard and payment collection, each one SQL statement."""
