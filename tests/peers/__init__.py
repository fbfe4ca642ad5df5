"""Federation test peers: real servers of other software that Plein must federate with."""
