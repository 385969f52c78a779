"""carbon"""
