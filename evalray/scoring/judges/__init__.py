"""The judge contract: prompt templates (:mod:`.templates`) and verdict parsing (:mod:`.verdicts`)."""
