"""scf-open311: an Open311 GeoReport v2 server as a remote system for scf-plugins."""
