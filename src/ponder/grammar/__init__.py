"""Output grammars: a GBNF grammar checked as llama.cpp reads it (:mod:`.check`), and one
constraint emitted in each server's dialect (:mod:`.constraint`)."""
