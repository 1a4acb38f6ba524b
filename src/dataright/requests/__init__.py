"""Rights requests: intake, identity verification, deadlines, the lifecycle, fulfilment and access packages."""
