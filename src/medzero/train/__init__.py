"""medzero.train"""
