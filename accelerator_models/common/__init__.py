"""The NPU model shared by every dataflow: hardware description, tile programs, event engine, numerical
executor."""
