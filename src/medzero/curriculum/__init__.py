"""medzero.curriculum"""
