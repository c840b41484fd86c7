"""Made-up drawings and the "not a digit" detector's training tools, outside the product.

Tests, benchmarks, ``scripts/``, the notebook and ``docs/screenshots.py`` use this package; the
installed ``mnist_cnn`` never imports it (``tests/test_package_contents.py``), and it is not
packaged: ``pyproject.toml`` ships ``mnist_cnn`` alone.

- ``sketches``: stroke sketches of digits (two styles), one quirky writer, non-digits.
- ``detector``: what the learned detector of ``mnist_cnn.digit_check`` is trained on, and how
  its shipped weights were made.
- ``unseen_kinds``: non-digits of kinds no part of the "not a digit" check trains on.
- ``scans``: MNIST digits as coarse low-resolution scans, the held-out test of other hands.
- ``composed_numbers``: numbers composed from MNIST digits or sketches, on a canvas or "paper".
"""
