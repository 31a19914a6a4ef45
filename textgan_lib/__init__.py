"""textgan_lib: the small library behind the textgan course (text-to-image GAN cascade).

Modules, in the order the course teaches them: ``config``, ``data``, ``text``, ``models``,
``losses``, ``training``, ``metrics``, ``viz``, ``cli``.
"""
__version__ = "0.1.0"
