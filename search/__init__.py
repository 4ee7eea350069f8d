"""Full-text search over leads and policies (Whoosh). Built by the search issue."""
