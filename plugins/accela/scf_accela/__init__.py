"""scf-accela: Accela Civic Platform records (Construct API v4) as an scf-plugins remote
system, with an emulator of the Construct API for tests, the demo and trying a config."""
