"""Cues and acknowledgements: the cue desk (who is buzzed, escalation, acks against open cues),
the ack inputs, and the stage that hands zone decisions to the desk. No I/O."""
