"""meter/backends"""
