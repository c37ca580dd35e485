"""Acknowledgement reports that come to managers: the figures in plain words, a one-page PDF,
and daily and weekly e-mails (per site and for the chain) sent by a scheduler in the
dashboard."""
