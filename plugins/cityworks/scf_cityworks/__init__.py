"""scf-cityworks: the Cityworks (Trimble Unity Maintain) plugin for scf-plugins."""

__version__ = "0.1.0"
