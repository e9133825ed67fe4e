"""Guards at the boundaries: what enters ponder from a user, a client or a model is checked here.

Text made valid and harmless for a terminal (:mod:`.text`), numbers finite and bounded
(:mod:`.numbers`), nested JSON bounded without recursion (:mod:`.payload`), user regular
expressions run with a time bound (:mod:`.patterns`) and ``HOST[:PORT]`` allowlist entries
(:mod:`.netloc`).
"""
