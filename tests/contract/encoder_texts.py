"""Texts the encoder contracts embed: one word, a sentence, and one past the 256-word-piece limit."""

SHORT = "Kafka."
MEDIUM = "Kafka keeps records for seven days by default; retention is configurable per topic."
LONG = " ".join(f"Paragraph {i} explains how the broker replicates partitions to followers in the ISR."
                for i in range(40))  # well past 256 word pieces: truncated
