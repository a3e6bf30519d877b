"""Amplifiers: influencers, community leaders and partners who pass verified answers on."""
