"""medzero.analyze"""
