"""Test harness: settings for throw-away instances, databases on both backends, real servers on 127.0.0.1."""
