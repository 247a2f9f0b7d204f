"""Edge-NPU models: one hardware description and event engine (common/) that the attention dataflows
(mas_attention/) and MEADOW's dataflows run on. Stands alone: numpy and PyYAML only."""
