"""Service work orders: on-site testing, installation, demos and repairs on a technician's calendar."""
