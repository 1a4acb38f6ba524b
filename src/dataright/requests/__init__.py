"""Rights requests: intake, verification, deadlines (pure date arithmetic), lifecycle, fulfilment, access packages."""
