"""Sensitive fields: values stored encrypted with envelope encryption (a per-tenant data key
wrapped by a master key from settings), masked unless the caller has `sensitive:read`, searchable
by equality through a keyed blind index, re-encrypted and re-wrapped by `saas keys`.

`envelope.py` is the cryptography of one value, `keys.py` the keys, `rules.py` the one rule that
writes, compiled reads and the ORM path follow, `reveal.py` the post-processing of compiled reads,
`service.py` the changes (marking, runs, rotation) and `jobs.py` the background re-encryption.
"""
