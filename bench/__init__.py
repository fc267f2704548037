"""Benchmarks: seeding (`bench.seed`), the HTTP load run (`bench.run`) and the profile (`bench.profile`)."""
