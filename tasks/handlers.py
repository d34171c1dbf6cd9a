"""Validators and service operations of the procedure diagrams; each names its rule ids."""
