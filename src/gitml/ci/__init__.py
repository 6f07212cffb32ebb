"""Commands that run inside CI jobs (`gitml ci ...`)."""
