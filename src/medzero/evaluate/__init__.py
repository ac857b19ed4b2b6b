"""medzero.evaluate"""
