"""The knowledge base: problem-and-solution articles, drafted and published, searched in any language."""
