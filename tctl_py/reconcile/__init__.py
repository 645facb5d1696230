"""Planning changes to clusters: desired objects against what is there now. Pure."""
