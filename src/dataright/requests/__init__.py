"""Rights requests: intake, verification, deadlines (pure date arithmetic), lifecycle, access packages."""
