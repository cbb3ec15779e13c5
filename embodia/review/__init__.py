"""The review site: a static gallery of recorded episodes with plots, comparison and accept/reject marks."""
