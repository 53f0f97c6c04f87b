"""sendwatch: watch SMS/messaging delivery live across Sent.dm and Sendo."""

__version__ = "0.1.0"
