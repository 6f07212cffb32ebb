"""Monitoring the served model: data and prediction drift, data quality, live performance, and what a breach does.

`gitml monitor drift` compares current data (the prediction log, or a data file)
with the training data of the version in a stage; `gitml monitor performance`
joins ground-truth labels to the log; `gitml monitor issue` opens or updates the one
`drift` issue; `gitml monitor retrain` opens a retraining pull request.
Importing this package does no I/O.
"""
