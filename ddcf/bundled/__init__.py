"""The bundled real-data demo set (``data/bundled/``): where its files are, how they are built
(``scripts/build_bundled_data.py``) and installed into a work directory (``ddcf install-bundled``,
``scripts/install_bundled_data.py``).  Named ``bundled``, not ``data``, so it is not confused with the ``data/``
folder it reads."""
