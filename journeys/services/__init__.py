"""What staff and the lower apps' signals do to journeys: ``setup`` (writing them) and ``entering`` (who is in)."""
