"""scf-arcgis: address validation against an ArcGIS GeocodeServer, for scf-plugins."""

__version__ = "0.1.0"
