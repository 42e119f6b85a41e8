"""Collectors: the edges where outside data (feed, Resource Graph, SKUs) becomes model values."""
