"""entities: the person master (一人一档) and the company / vehicle / phone masters."""

import logging

# Splink's notes on untrained rare levels are expected with our stated u values; keep
# errors, drop the noise from CLI output (every Linker here is built with log_level=None).
logging.getLogger("splink").setLevel(logging.ERROR)
