"""One module per benchmark file family; each defines :class:`~medzero.data.formats.base.Format`
objects that :data:`medzero.data.loaders.FORMATS` registers lazily by name."""
