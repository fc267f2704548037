"""Benchmarks: seeding (`bench.seed`), the HTTP load run (`bench.run`), the profile of a read
(`bench.profile`) and of the writes (`bench.write_profile`)."""
