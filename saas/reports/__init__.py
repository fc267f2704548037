"""Sales reports: pipeline, trend, leaderboard, payment collection and the lead funnel, each one SQL statement."""
