"""`edgexai doctor`: is this device ready for `edgexai run` with the same options."""
