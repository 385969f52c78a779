"""meter/sim"""
