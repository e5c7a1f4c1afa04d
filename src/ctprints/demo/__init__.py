"""The demo data: phantom patients, generators trained on them, laid out like ImageCLEF.

:mod:`ctprints.demo.scenarios` plans it (scales, scenarios, which patient goes where),
:mod:`ctprints.demo.generate` renders the patients and trains the generators,
:mod:`ctprints.demo.layout` writes the folders and ground truth, and
:mod:`ctprints.demo.signal` checks that the signal it is built for is there.
"""
