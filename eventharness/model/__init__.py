"""eventharness.model"""
